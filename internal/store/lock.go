package store

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lock is an exclusive hold on a database, taken by the processes that
// write to it (`serve`, `sync`) before they open it, so that two daemons
// never plan and apply against one mirror. It is an advisory lock (flock)
// on a file beside the database, <db>.lock: the kernel drops it when the
// process ends, however it ends, so a crash never leaves a stale lock
// behind. The lock file itself stays, holding the last holder's details.
type Lock struct {
	f    *os.File
	path string
}

// Holder says who holds a lock: written into the lock file by the holder
// and read back by whoever is refused.
type Holder struct {
	PID     int
	Host    string
	Command string // "serve", "sync"
	Since   time.Time
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "a process that has not said who it is yet"
	}
	s := fmt.Sprintf("queuewrangler %s (pid %d on host %s", cmp.Or(h.Command, "?"), h.PID, cmp.Or(h.Host, "?"))
	if !h.Since.IsZero() {
		s += ", since " + h.Since.UTC().Format(time.RFC3339)
	}
	return s + ")"
}

// LockedError is the refusal of Lock: the database is held by Holder.
type LockedError struct {
	Path   string // the lock file
	Holder Holder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: held by %s through %s", ErrLocked, e.Holder, e.Path)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// lockPath is the lock file of the database at dbPath.
func lockPath(dbPath string) string { return dbPath + ".lock" }

// AcquireLock takes the lock of the database at dbPath without waiting. If
// another process holds it, the error is a *LockedError (errors.Is
// ErrLocked) naming the holder. On a system without flock it returns
// ErrLockUnsupported and no lock: the caller decides whether to go on.
func AcquireLock(dbPath, command string) (*Lock, error) {
	path, err := cleanPath(dbPath)
	if err != nil {
		return nil, err
	}
	path = lockPath(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock database: %w", err)
	}
	switch err := lockFile(f); {
	case errors.Is(err, errWouldBlock):
		h := readHolder(f)
		f.Close()
		return nil, &LockedError{Path: path, Holder: h}
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("lock database %s: %w", path, err)
	}
	host, _ := os.Hostname()
	h := Holder{PID: os.Getpid(), Host: host, Command: command, Since: time.Now()}
	if err := writeHolder(f, h); err != nil {
		f.Close() // closing the descriptor releases the lock
		return nil, fmt.Errorf("lock database %s: write holder: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Release gives the lock up. The lock file stays: removing it would let a
// process that opened it just before take a lock on a file nobody else
// can find.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// ErrLockUnsupported: this system has no advisory file lock that dies with
// its process; AcquireLock took none.
var ErrLockUnsupported = errors.New("no advisory file lock on this system; a second daemon on the same database is not prevented")

var errWouldBlock = errors.New("lock held by another process")

func writeHolder(f *os.File, h Holder) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	body := fmt.Sprintf("pid=%d\nhost=%s\ncommand=%s\nsince=%s\n", h.PID, h.Host, h.Command, h.Since.UTC().Format(time.RFC3339))
	if _, err := f.WriteAt([]byte(body), 0); err != nil {
		return err
	}
	return nil
}

// readHolder parses what the holder wrote; a holder that has locked but not
// written yet reads as the zero Holder.
func readHolder(f *os.File) Holder {
	var h Holder
	if _, err := f.Seek(0, 0); err != nil {
		return h
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "host":
			h.Host = v
		case "command":
			h.Command = v
		case "since":
			h.Since, _ = time.Parse(time.RFC3339, v)
		}
	}
	return h
}
