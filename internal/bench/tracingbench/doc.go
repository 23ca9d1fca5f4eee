// Package tracingbench holds what measures contact tracing and nothing the
// product runs: a synthetic region's movement (Movement, deterministic
// from its seed; internal/demo gives it real residents and places), the
// measurement behind `outbreak bench tracing` (Measure) and its memory
// sampler. The tracing domain (internal/tracing) holds the store, the
// index, the tracer and the service.
package tracingbench
