//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import "os"

// LocksSupported: AcquireLock takes no lock on this system.
const LocksSupported = false

// lockFile: this system has no flock in the standard library (Windows
// would need LockFileEx from golang.org/x/sys, which the design does not
// take on). Linux is the target; elsewhere the caller is told.
func lockFile(*os.File) error { return ErrLockUnsupported }
