//! Streaming responses: an event-stream body fed from a channel, and the task that turns a
//! generation's events into frames. When the client goes away the channel closes, the task
//! ends, and the engine drops the sequence at its next step.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use mantle_inference::GenerationEvent;

/// A sender for frames and the 200 response streaming them as
/// `application/vnd.amazon.eventstream`.
pub(crate) fn eventstream_response() -> (UnboundedSender<Bytes>, Response) {
    let (frames, body) = channel_body();
    let response = (
        [(header::CONTENT_TYPE, "application/vnd.amazon.eventstream")],
        body,
    )
        .into_response();
    (frames, response)
}

/// A body that streams whatever is sent on the returned channel until it is dropped.
pub(crate) fn channel_body() -> (UnboundedSender<Bytes>, Body) {
    let (frames, receiver) = unbounded_channel::<Bytes>();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|bytes| (Ok::<_, std::convert::Infallible>(bytes), receiver))
    });
    (frames, Body::from_stream(stream))
}

/// Sends `frames_for(event)` for each generation event until the last one or until the client
/// is gone.
pub(crate) async fn forward_events(
    mut events: UnboundedReceiver<GenerationEvent>,
    frames: UnboundedSender<Bytes>,
    mut frames_for: impl FnMut(GenerationEvent) -> Vec<Bytes> + Send + 'static,
) {
    while let Some(event) = events.recv().await {
        let last = event.is_last();
        for frame in frames_for(event) {
            if frames.send(frame).is_err() {
                return;
            }
        }
        if last {
            return;
        }
    }
}
