package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dbPathProblem names what is wrong with a QW_DB_PATH that no wait will
// fix, or "": a directory that is missing or is not one, a path that
// names a directory instead of the file, the file itself or a -wal or
// -shm beside it this user may not read, a WAL file with no -wal in a
// directory this user may not create files in (a reader then cannot read
// it: walReadProblem), and, when writes is set, its
// .lock this user may not read, or a directory or any of those files
// this user may not write. Each of these
// would otherwise have the daemon retry opening the database for ever. A
// read-only or full file system is not among them: it may be remounted
// or freed while the daemon waits, and the daemon says so on /readyz
// (check names a read-only one all the same: Validate's WritableNow).
func dbPathProblem(path string, writes bool) string {
	dir := filepath.Dir(path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrPermission):
		// A directory above it keeps this user out: which one, the
		// remedy's chown of the mounted directory finds.
		return fmt.Sprintf("%s cannot reach %s (a directory on the way keeps this user out): %s", thisUser(), dir, ownershipRemedy)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the directory %s does not exist (create it, or mount the volume there)", dir)
	case err == nil && !fi.IsDir():
		return fmt.Sprintf("%s is not a directory", dir)
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrPermission) {
		// The directory's own permissions keep this user out (a host
		// directory left 700 by root): every file in it would be named
		// unreadable below, even ones that do not exist.
		return fmt.Sprintf("%s cannot enter %s, so cannot open the database or any file beside it: %s", thisUser(), dir, ownershipRemedy)
	}
	if err == nil && fi.IsDir() {
		return fmt.Sprintf("%s is a directory: name the database file in it, such as %s", path, filepath.Join(path, "queuewrangler.db"))
	}
	// The files beside the database are opened with it: SQLite's -wal and
	// -shm, and, by the commands that write, the store's .lock (plan and
	// backfill take no lock, so theirs is no problem of theirs). A sqlite3
	// session on the host by a user who may only read the file leaves its
	// -wal and -shm behind, that user's (a root session's go to the file's
	// owner: SQLite does that), and then no start opens the database until
	// the files are given back.
	beside := []string{path + "-wal", path + "-shm"}
	if writes {
		beside = append(beside, path+".lock")
	}
	for _, beside := range beside {
		if p := openProblem(beside, writes); p != "" {
			return p
		}
	}
	if !writes {
		if fi == nil {
			return ""
		}
		// plan and backfill read it: refused as an unreadable -wal is,
		// rather than by the open's bare "permission denied".
		if p := openProblem(path, false); p != "" {
			return p
		}
		return walReadProblem(path, dir)
	}
	// The lock, -wal and -shm files are created beside the database, so
	// the directory must take new files even when the database exists.
	// Trying is the only check that agrees with the kernel (ACLs, root
	// squashing, user namespaces); the probe is removed at once.
	probe, err := os.CreateTemp(dir, ".queuewrangler-write-check-*")
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Sprintf("%s cannot create files in %s (the database, its .lock, -wal and -shm files go there): %s",
			thisUser(), dir, ownershipRemedy)
	}
	if err == nil {
		probe.Close()
		os.Remove(probe.Name())
	}
	if fi != nil {
		return openProblem(path, true)
	}
	return ""
}

// walReadProblem names the one way a reader is refused a WAL database it
// may read: with no -wal beside it (the daemon stopped, or closed
// cleanly), SQLite reads it only through a -wal and -shm it creates in
// its directory, and a user who may not create files there gets SQLite's
// "attempt to write a readonly database" instead. "" otherwise; a
// rollback-journal file needs nothing beside it to be read.
func walReadProblem(path, dir string) string {
	var header [20]byte
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	_, err = f.ReadAt(header[:], 0)
	f.Close()
	const walFormat = 2 // bytes 18 and 19 of the header: the file format, 2 for WAL
	if err != nil || header[18] != walFormat {
		return ""
	}
	if _, err := os.Lstat(path + "-wal"); err == nil {
		return ""
	}
	probe, err := os.CreateTemp(dir, ".queuewrangler-read-check-*")
	if err == nil {
		probe.Close()
		os.Remove(probe.Name())
		return ""
	}
	if !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	return fmt.Sprintf("%s cannot create files in %s, where SQLite puts the -wal and -shm it reads a WAL database through while the daemon is stopped: "+
		"run it as the daemon's user (uid 65532 in the container), or while the daemon runs", thisUser(), dir)
}

// openProblem says what this user may not do with an existing file, "read"
// or, when writes is set, "write", or "": a file that is not there, or a
// failure other than permission, is for the open itself to report.
func openProblem(path string, writes bool) string {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Sprintf("%s cannot read %s: %s", thisUser(), path, ownershipRemedy)
	}
	if err != nil {
		return ""
	}
	f.Close()
	if !writes {
		return ""
	}
	if f, err = os.OpenFile(path, os.O_RDWR, 0); errors.Is(err, fs.ErrPermission) {
		return fmt.Sprintf("%s cannot write %s: %s", thisUser(), path, ownershipRemedy)
	} else if err == nil {
		f.Close()
	}
	return ""
}

// ownershipRemedy is what to do about a database this user may not write.
// The image runs as uid 65532, and a directory bind-mounted from the host
// keeps the host's owner.
const ownershipRemedy = "give this user the directory and the files in it (the container runs as uid 65532: " +
	"chown -R 65532:65532 the host directory mounted at /data, or use a named volume)"

// thisUser names the process's user for a permission problem.
func thisUser() string {
	if uid := os.Getuid(); uid >= 0 {
		return fmt.Sprintf("this user (uid %d)", uid)
	}
	return "this user"
}
