package config

import "syscall"

// stRDOnly is statfs(2)'s ST_RDONLY: the file system is mounted read-only.
const stRDOnly = 0x1

// readOnlyFS reports whether dir is on a file system mounted read-only.
// The mount flag, not a failed write: root writes past permissions, but
// not past a read-only mount. False when statfs fails: the other checks,
// or the open, say why. A variable, so that tests decide without a mount.
var readOnlyFS = func(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Flags&stRDOnly != 0
}
