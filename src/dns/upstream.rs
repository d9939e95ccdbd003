//! Resolver mode: completing a query with an upstream answer. The transports
//! know upstreams only through `Upstream`, so they do not depend on how
//! forwarding is done.

use std::future::Future;
use std::pin::Pin;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};

use super::Shared;
use super::message::PendingForward;

/// An upstream's answer to one question.
#[derive(Debug, Clone)]
pub struct Upstreamed {
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
}

/// Something that resolves questions we do not serve.
pub trait Upstream: Send + Sync {
    fn resolve<'a>(
        &'a self,
        name: &'a Name,
        qtype: RecordType,
    ) -> Pin<Box<dyn Future<Output = Upstreamed> + Send + 'a>>;
}

/// Resolves what `pending` needs upstream and returns the encoded reply
/// (`None` when nothing can be sent). Without an upstream (no `[forward]` in
/// the config), the answer is SERVFAIL.
pub async fn complete(shared: &Shared, pending: Box<PendingForward>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(512);
    let upstream = shared.upstream.load_full();
    let up = match upstream.as_deref() {
        Some(u) => u.resolve(&pending.name, pending.qtype).await,
        None => Upstreamed {
            rcode: ResponseCode::ServFail,
            answers: Vec::new(),
            authorities: Vec::new(),
        },
    };
    pending
        .finish(
            &shared.metrics,
            up.rcode,
            &up.answers,
            &up.authorities,
            &mut out,
        )
        .then_some(out)
}
