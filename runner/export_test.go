package runner

// SetProfileQueries sets the timestamps per profiled submission and
// returns a function that restores the old value.
func SetProfileQueries(n int) func() {
	old := profileQueries
	profileQueries = n
	return func() { profileQueries = old }
}
