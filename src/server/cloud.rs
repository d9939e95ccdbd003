//! The control API inside the control loop: calls and lifecycle steps run
//! one at a time (the loop is their only owner, so writes are serialized),
//! their CPU work off the runtime, and a change that DNS must show is
//! published before the call is answered.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tracing::{error, info, warn};

use super::control::{Control, next_serial};
use crate::cloudapi::error::ApiError;
use crate::cloudapi::http::Call;
use crate::cloudapi::plane::{Ctx, Extension, Plane, now_ms};
use crate::cloudapi::record::View;
use crate::cloudapi::{privatelink, privatezone};
use crate::model::Model;
use crate::snapshot::{Publisher, Tables};

/// The desired state and where it is kept.
pub(super) struct CloudPlane {
    /// Out only while a call runs off the runtime.
    plane: Option<Box<Plane>>,
    dir: PathBuf,
    lifecycle: Duration,
}

impl CloudPlane {
    pub fn open(dir: PathBuf, lifecycle: Duration) -> anyhow::Result<CloudPlane> {
        let plane = Plane::open(&dir, lifecycle)?;
        info!(
            state = %dir.display(),
            endpoints = plane.endpoints().len(),
            "control API state opened"
        );
        Ok(CloudPlane {
            plane: Some(Box::new(plane)),
            dir,
            lifecycle,
        })
    }

    pub fn plane(&self) -> Option<&Plane> {
        self.plane.as_deref()
    }

    /// The API's objects as DNS answers them.
    pub fn published(&self) -> Extension {
        self.plane
            .as_ref()
            .map(|p| p.extension(View::Published, None))
            .unwrap_or_default()
    }
}

/// What a piece of work off the runtime hands back.
type Done = (
    Box<Plane>,
    Result<Value, ApiError>,
    Option<(Model, Publisher)>,
    Duration,
);

impl Control {
    pub(super) fn lifecycle_deadline(&self) -> Option<tokio::time::Instant> {
        let due = self.cloud.as_ref()?.plane()?.next_deadline()?;
        let wait = Duration::from_millis(due.saturating_sub(now_ms()));
        Some(tokio::time::Instant::now() + wait)
    }

    pub(super) async fn api_call(&mut self, call: Call) {
        let Call {
            action,
            params,
            reply,
        } = call;
        let result = self
            .off_runtime(move |plane, ctx| {
                let out = if privatezone::handles(&action) {
                    privatezone::call(plane, ctx, &action, &params)
                } else {
                    privatelink::call(plane, ctx, &action, &params)
                };
                (out.reply, out.publish)
            })
            .await;
        // The caller may have gone; the change stands either way.
        let _ = reply.send(result);
    }

    pub(super) async fn advance_lifecycle(&mut self) {
        let result = self
            .off_runtime(|plane, ctx| match plane.advance(ctx, now_ms()) {
                Ok(publish) => (Ok(Value::Null), publish),
                Err(m) => (Err(ApiError::internal(m)), None),
            })
            .await;
        if let Err(e) = result {
            error!(error = %e, "control API lifecycle step failed");
        }
    }

    /// Runs `work` on the plane off the runtime, then publishes the model
    /// it returns (its tables built off the runtime too).
    async fn off_runtime(
        &mut self,
        work: impl FnOnce(&mut Plane, &Ctx<'_>) -> (Result<Value, ApiError>, Option<Model>)
        + Send
        + 'static,
    ) -> Result<Value, ApiError> {
        let Some(cloud) = self.cloud.as_mut() else {
            return Err(ApiError::internal("the control API is off"));
        };
        let Some(mut plane) = cloud.plane.take() else {
            return Err(ApiError::internal("the control API state is not open"));
        };
        let (base, published, source) =
            (self.base.clone(), self.model.clone(), self.source.clone());
        let inbound = self.inbound.clone();
        let serial = next_serial(self.publisher.tables().serial);
        let task = tokio::task::spawn_blocking(move || -> Done {
            let started = std::time::Instant::now();
            let load_zone =
                |origin: &hickory_proto::rr::Name, file: &str| source.load_zone(origin, file);
            let ctx = Ctx {
                base: &base,
                published: &published,
                load_zone: &load_zone,
            };
            let (reply, publish) = work(&mut plane, &ctx);
            let built = publish.map(|mut m| {
                m.bind_inbound(&inbound);
                let publisher = Publisher::new(Arc::new(Tables::build(&m, serial)));
                (m, publisher)
            });
            (plane, reply, built, started.elapsed())
        });
        let (plane, reply, built, took) = match task.await {
            Ok(done) => done,
            Err(e) => {
                // A bug: the store has every acknowledged change, so the
                // state is read again from it.
                error!(error = %e, "control API call failed; reopening its state");
                let cloud = self.cloud.as_mut().expect("checked above");
                match Plane::open(&cloud.dir, cloud.lifecycle) {
                    Ok(p) => cloud.plane = Some(Box::new(p)),
                    Err(e) => error!(error = %e, "control API state cannot be reopened"),
                }
                return Err(ApiError::internal("the call failed; nothing was changed"));
            }
        };
        self.cloud.as_mut().expect("checked above").plane = Some(plane);
        if let Some((model, publisher)) = built {
            if let Err(e) = self.swap_in(model, publisher) {
                warn!(error = %format!("{e:#}"), "control API change stored but not published");
                return Err(ApiError::internal(format!(
                    "the change is stored but could not be published: {e:#}"
                )));
            }
            // Validation and table building: the whole rebuild a change
            // costs until tables are updated incrementally.
            info!(
                endpoints = self.model.endpoints.len(),
                took_ms = took.as_millis() as u64,
                "control API change published"
            );
        }
        reply
    }
}
