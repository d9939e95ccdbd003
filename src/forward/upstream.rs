//! The forwarder as the DNS transports' `Upstream`.

use std::future::Future;
use std::pin::Pin;

use hickory_proto::rr::{Name, RecordType};

use super::Forwarder;
use crate::dns::forwarding::{Upstream, Upstreamed};

impl Upstream for Forwarder {
    fn resolve<'a>(
        &'a self,
        name: &'a Name,
        qtype: RecordType,
    ) -> Pin<Box<dyn Future<Output = Upstreamed> + Send + 'a>> {
        Box::pin(async move {
            let f = Forwarder::resolve(self, name, qtype).await;
            Upstreamed {
                rcode: f.rcode,
                answers: f.answers,
                authorities: f.authorities,
            }
        })
    }
}
