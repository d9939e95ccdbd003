//! The control API's state in the server (`CloudPlane`: the store and the
//! plane of API-made objects) and its jobs (`ApiJob`, `Finished`); the
//! control loop runs them (`control_api.rs`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::task::{JoinError, JoinHandle};
use tracing::info;

use crate::cloudapi::error::ApiError;
use crate::cloudapi::plane::{Extension, Plane};
use crate::cloudapi::record::View;
use crate::model::Model;
use crate::snapshot::Publisher;
use crate::store::{OverrideWrite, StateLocation, StoreEvent, StoreHealth};

/// The desired state and where it is kept.
pub(super) struct CloudPlane {
    /// Out while a job has it on the blocking pool.
    pub(super) plane: Option<Box<Plane>>,
    pub(super) state: StateLocation,
    pub(super) lifecycle: Duration,
    /// Whether a shared store answers (`/v1/status`, the metrics).
    health: Option<Arc<StoreHealth>>,
    /// Other replicas' changes, until the control loop takes them.
    pub(super) events: Option<UnboundedReceiver<StoreEvent>>,
    /// Admin overrides to keep, until the control loop takes them.
    pub(super) override_writes: Option<tokio::sync::mpsc::Receiver<OverrideWrite>>,
}

impl CloudPlane {
    pub fn open(state: StateLocation, lifecycle: Duration) -> anyhow::Result<CloudPlane> {
        let plane = Plane::open(&state, lifecycle)?;
        info!(
            state = %state,
            endpoints = plane.endpoints().len(),
            zones = plane.zones().len(),
            revision = plane.revision()?,
            "control API state opened"
        );
        Ok(CloudPlane {
            plane: Some(Box::new(plane)),
            state,
            lifecycle,
            health: None,
            events: None,
            override_writes: None,
        })
    }

    /// Where the admin API sends overrides to keep in the store.
    pub fn override_sink(&mut self) -> tokio::sync::mpsc::Sender<OverrideWrite> {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        self.override_writes = Some(rx);
        tx
    }

    /// Starts following other replicas' changes (a shared store only);
    /// `health` then says whether the store answers.
    pub fn watch(&mut self, health: Arc<StoreHealth>) {
        if let Some(plane) = self.plane.as_mut() {
            self.events = plane.watch(health.clone());
        }
        self.health = Some(health);
    }

    /// Reads the state again from the store (after a job failed), and
    /// follows it again.
    pub fn reopen(&mut self) -> anyhow::Result<()> {
        let mut plane = Plane::open(&self.state, self.lifecycle)?;
        if let Some(health) = &self.health {
            self.events = plane.watch(health.clone());
        }
        self.plane = Some(Box::new(plane));
        Ok(())
    }

    /// The API's objects as validated (pending ones included) and, when
    /// that differs, as DNS answers them.
    pub fn views(&self) -> (Extension, Option<Extension>) {
        let Some(plane) = &self.plane else {
            return (Extension::default(), None);
        };
        let pending = plane.endpoints().values().any(|r| r.pending());
        (
            plane.extension(View::Desired, None),
            pending.then(|| plane.extension(View::Published, None)),
        )
    }
}

/// What a job hands back from the blocking pool: the plane, the reply, the
/// model to publish with its tables, and how long it took.
pub(super) type Output = (
    Box<Plane>,
    Result<Value, ApiError>,
    Option<(Model, Publisher)>,
    Duration,
);

/// A call or lifecycle step on the blocking pool.
pub(super) struct ApiJob {
    pub(super) task: JoinHandle<Output>,
    /// The caller, for a call.
    pub(super) reply: Option<oneshot::Sender<Result<Value, ApiError>>>,
}

/// A job that ended.
pub(super) struct Finished {
    pub(super) output: Result<Output, JoinError>,
    pub(super) reply: Option<oneshot::Sender<Result<Value, ApiError>>>,
}

impl ApiJob {
    pub async fn wait(&mut self) -> Finished {
        Finished {
            output: (&mut self.task).await,
            reply: self.reply.take(),
        }
    }
}
