package audit

// SetExportBatch sets how many rows Each reads at a time, for a test.
func SetExportBatch(n int) (restore func()) {
	old := exportBatch
	exportBatch = n
	return func() { exportBatch = old }
}
