package testkit

import (
	"bytes"
	"sync"
)

// LogBuffer is a log sink safe for concurrent writers (a daemon's
// goroutines, a transport chain at every retry); the test reads it
// afterwards, for example to check that no secret was logged.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
