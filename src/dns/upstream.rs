//! Resolver mode: completing a query with an upstream answer. The transports
//! know upstreams only through `Upstream`, so they do not depend on how
//! forwarding is done, and start every forward through [`forward`], which
//! holds the number in flight to a cap.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::sync::Semaphore;
use tracing::warn;

use super::Shared;
use super::log_gate::LogGate;
use super::message::PendingForward;

/// An upstream's answer to one question.
#[derive(Debug, Clone)]
pub(crate) struct Upstreamed {
    pub(crate) rcode: ResponseCode,
    pub(crate) answers: Vec<Record>,
    pub(crate) authorities: Vec<Record>,
}

/// Something that resolves questions we do not serve.
pub(crate) trait Upstream: Send + Sync {
    fn resolve<'a>(
        &'a self,
        name: &'a Name,
        qtype: RecordType,
    ) -> Pin<Box<dyn Future<Output = Upstreamed> + Send + 'a>>;
}

/// The cap on forwarded questions in flight, over every transport: each one
/// is a task and may hold an upstream socket, so a flood of questions for
/// names we do not serve must not grow them without bound.
pub(crate) struct InFlight {
    slots: Arc<Semaphore>,
    cap: usize,
}

impl InFlight {
    pub(crate) fn new(cap: usize) -> Self {
        InFlight {
            slots: Arc::new(Semaphore::new(cap)),
            cap,
        }
    }
}

/// Starts resolving `pending` upstream; `deliver` gets the encoded reply.
/// With a free slot, a task on the runtime resolves it. With `cap` forwards
/// in flight already, no task is started: the reply is SERVFAIL, delivered
/// now, so that the client retries elsewhere instead of waiting for a slot.
pub(crate) fn forward(
    shared: &Arc<Shared>,
    pending: Box<PendingForward>,
    deliver: impl FnOnce(Vec<u8>) + Send + 'static,
) {
    static FULL: LogGate = LogGate::new(Duration::from_secs(10));
    let Ok(slot) = shared.forwards.slots.clone().try_acquire_owned() else {
        if let Some(left_out) = FULL.pass() {
            warn!(
                cap = shared.forwards.cap,
                left_out, "forwarded questions at their cap; answering SERVFAIL"
            );
        }
        let mut out = Vec::with_capacity(512);
        if pending.finish(&shared.metrics, ResponseCode::ServFail, &[], &[], &mut out) {
            deliver(out);
        }
        return;
    };
    let shared2 = shared.clone();
    shared.runtime.spawn(async move {
        let reply = complete(&shared2, pending).await;
        drop(slot);
        if let Some(reply) = reply {
            deliver(reply);
        }
    });
}

/// Resolves what `pending` needs upstream and returns the encoded reply
/// (`None` when nothing can be sent). Without an upstream (no `[forward]` in
/// the config), the answer is SERVFAIL.
async fn complete(shared: &Shared, pending: Box<PendingForward>) -> Option<Vec<u8>> {
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
