package tracing

// SetSplitProbes sets from how many probes a query is split in two, and
// returns a function that restores it.
func SetSplitProbes(n int) (restore func()) {
	old := splitProbes
	splitProbes = n
	return func() { splitProbes = old }
}
