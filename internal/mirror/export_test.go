package mirror

// CompleteCursor names m's mark of a completed sync, for the tests that
// look for it in the store.
var CompleteCursor = (*Mirror).completeCursor
