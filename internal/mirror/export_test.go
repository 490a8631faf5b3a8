package mirror

// CompleteCursor names m's mark of a completed sync, for the tests that
// look for it in the store.
var CompleteCursor = (*Mirror).completeCursor

// LeftOutCursor names the cursor the poll is held back to for a named
// mailbox it leaves out, for the tests that look for it in the store.
var LeftOutCursor = leftOutCursor
