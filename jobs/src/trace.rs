//! W3C trace context (`traceparent`, `tracestate`): a submission's trace is
//! kept with its job, written on the log lines of its attempts and
//! deliveries (`trace_id`), and sent on its callbacks as `traceparent`, so
//! that a receiver's trace continues the submitter's.
//!
//! A `traceparent` that is missing or invalid is not an error: the request
//! starts a new trace, as the W3C recommendation asks of a receiver that
//! cannot read the header. `tracestate` is kept only with a valid
//! `traceparent`, and only when it is a valid list.
//!
//! When spans are exported (OTLP, see the binary's telemetry), the spans of
//! jobcall join the same trace: [`TraceContext::adopt`] makes a tracing
//! span the child of a stored context, and [`TraceContext::of_span`] reads a
//! span's own context back, so that a callback's `traceparent` names the
//! exported span of its delivery attempt.

use std::str::FromStr;

use opentelemetry::{
    Context,
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::secrets::random_bytes;

/// The longest `tracestate` kept (the W3C limit for a list of 32 members
/// of 256 characters is larger; 512 is what propagators must accept).
const MAX_TRACESTATE: usize = 512;

/// A position in a trace: the trace, the span that is the parent of what
/// comes next, the flags, and the vendors' `tracestate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
    state: Option<String>,
}

impl TraceContext {
    /// A `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`, or a later
    /// version with at least those fields); `None` when it is not one.
    pub fn parse(traceparent: &str) -> Option<Self> {
        let mut parts = traceparent.trim().split('-');
        let version = hex_bytes::<1>(parts.next()?)?[0];
        let trace_id = hex_bytes::<16>(parts.next()?)?;
        let span_id = hex_bytes::<8>(parts.next()?)?;
        let flags = hex_bytes::<1>(parts.next()?)?[0];
        // Version 00 has exactly four fields; later ones may add fields.
        let rest_ok = match version {
            0x00 => parts.next().is_none(),
            0xff => false,
            _ => true,
        };
        let valid = rest_ok && trace_id != [0; 16] && span_id != [0; 8];
        valid.then_some(Self {
            trace_id,
            span_id,
            flags: flags & 0x01,
            state: None,
        })
    }

    /// The context a request continues: its `traceparent` (with its
    /// `tracestate`), or a new trace when there is none or it is invalid.
    pub fn from_headers(traceparent: Option<&str>, tracestate: Option<&str>) -> (Self, Origin) {
        match traceparent.and_then(Self::parse) {
            Some(parent) => {
                let state = tracestate
                    .filter(|s| s.len() <= MAX_TRACESTATE)
                    .and_then(|s| TraceState::from_str(s).ok())
                    .map(|s| s.header())
                    .filter(|s| !s.is_empty());
                (Self { state, ..parent }, Origin::Continued)
            }
            None => (Self::new_root(), Origin::Started),
        }
    }

    /// A new trace, sampled.
    pub fn new_root() -> Self {
        Self {
            trace_id: nonzero(random_bytes::<16>),
            span_id: nonzero(random_bytes::<8>),
            flags: 0x01,
            state: None,
        }
    }

    /// The same trace, with a new span: what a callback's `traceparent`
    /// names when no exported span stands for its attempt.
    pub fn child(&self) -> Self {
        Self {
            span_id: nonzero(random_bytes::<8>),
            ..self.clone()
        }
    }

    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            self.flags
        )
    }

    pub fn tracestate(&self) -> Option<&str> {
        self.state.as_deref()
    }

    pub fn trace_id(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The stored form: a `traceparent` and a `tracestate`, as the job row
    /// keeps them; `None` for what was not stored (jobs from before).
    pub fn from_stored(traceparent: Option<&str>, tracestate: Option<&str>) -> Option<Self> {
        let parent = Self::parse(traceparent?)?;
        Some(Self {
            state: tracestate.map(str::to_owned),
            ..parent
        })
    }

    fn span_context(&self) -> SpanContext {
        let state = self
            .state
            .as_deref()
            .and_then(|s| TraceState::from_str(s).ok())
            .unwrap_or_default();
        SpanContext::new(
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.span_id),
            TraceFlags::new(self.flags),
            true,
            state,
        )
    }

    /// The stored context of a job (or its event), continued by `attempt`
    /// (a span not entered yet) and written as `trace_id` on `outer` (the
    /// span around it, entered before the job was read). `None` for a job
    /// stored before trace context existed.
    pub fn continue_stored(
        traceparent: Option<&str>,
        tracestate: Option<&str>,
        outer: &tracing::Span,
        attempt: &tracing::Span,
    ) -> Option<Self> {
        let stored = Self::from_stored(traceparent, tracestate)?;
        outer.record("trace_id", stored.trace_id());
        stored.adopt(attempt);
        Some(stored)
    }

    /// Makes `span` (not entered yet) a child of this context in the
    /// exported trace; without an exporter there is nothing to do.
    pub fn adopt(&self, span: &tracing::Span) {
        let _ = span.set_parent(Context::new().with_remote_span_context(self.span_context()));
    }

    /// The exported context of `span`, with this context's `tracestate`;
    /// `None` when spans are not exported.
    pub fn of_span(span: &tracing::Span, state: Option<&str>) -> Option<Self> {
        let context = span.context();
        let span_context = context.span().span_context().clone();
        span_context.is_valid().then(|| Self {
            trace_id: span_context.trace_id().to_bytes(),
            span_id: span_context.span_id().to_bytes(),
            flags: span_context.trace_flags().to_u8() & 0x01,
            state: state.map(str::to_owned),
        })
    }
}

/// Whether a request continued its caller's trace or started one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Continued,
    Started,
}

/// `N` bytes from exactly `2N` lower-case hex digits (W3C: upper case is
/// invalid).
fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

/// Random bytes that are not all zero (an all-zero id is invalid).
fn nonzero<const N: usize>(random: impl Fn() -> [u8; N]) -> [u8; N] {
    loop {
        let bytes = random();
        if bytes != [0; N] {
            return bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_continued_with_its_state() {
        let (context, origin) = TraceContext::from_headers(
            Some(EXAMPLE),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        );
        assert_eq!(origin, Origin::Continued);
        assert_eq!(context.traceparent(), EXAMPLE);
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            context.tracestate(),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        );
        let child = context.child();
        assert_eq!(child.trace_id(), context.trace_id());
        assert_ne!(child.traceparent(), context.traceparent());
        assert_eq!(
            TraceContext::from_stored(Some(&child.traceparent()), child.tracestate()),
            Some(child)
        );
    }

    #[test]
    fn an_invalid_traceparent_starts_a_new_trace() {
        for invalid in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            let (context, origin) = TraceContext::from_headers(Some(invalid), Some("a=b"));
            assert_eq!(origin, Origin::Started, "{invalid:?}");
            assert_eq!(context.tracestate(), None, "no state without its parent");
            assert!(TraceContext::parse(&context.traceparent()).is_some());
        }
        let (_, origin) = TraceContext::from_headers(None, None);
        assert_eq!(origin, Origin::Started);
    }

    #[test]
    fn later_versions_are_read_by_their_first_fields() {
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-more";
        let context = TraceContext::parse(future).unwrap();
        assert_eq!(
            context.traceparent(),
            EXAMPLE,
            "sent back as version 00, sampled bit only"
        );
    }

    #[test]
    fn an_invalid_or_oversized_tracestate_is_dropped() {
        for state in ["not a list member", &format!("a={}", "x".repeat(600))] {
            let (context, _) = TraceContext::from_headers(Some(EXAMPLE), Some(state));
            assert_eq!(context.tracestate(), None);
        }
    }

    #[test]
    fn without_an_exporter_spans_have_no_context_of_their_own() {
        let span = tracing::info_span!("test");
        TraceContext::new_root().adopt(&span);
        assert_eq!(TraceContext::of_span(&span, None), None);
    }

    proptest! {
        #[test]
        fn any_header_parses_or_starts_a_trace(header in "[ -~]{0,80}") {
            let (context, _) = TraceContext::from_headers(Some(&header), Some(&header));
            prop_assert!(TraceContext::parse(&context.traceparent()).is_some());
        }
    }
}
