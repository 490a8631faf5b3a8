// Package config holds queuewrangler's runtime configuration: the QW_*
// environment variables of the README's Configuration, read with envconfig.
//
// Parsing never stops at the first bad value. Each typed field records its
// own decode error, and Validate reports every problem at once so an operator
// fixes the environment in one pass instead of one restart per mistake.
// That includes what the file system says of QW_DB_PATH when no wait would
// change it (a missing directory, a directory named as the file, and for
// the commands that write, a place this user may not write, found by
// creating and removing a probe file); a full or read-only disk is the
// daemon's to wait out, not a configuration problem.
//
// Secret values use the Secret type, which redacts itself in every textual
// form (fmt, slog, JSON), so a config can be logged whole without leaking.
//
// Configuration stops at main: other packages take plain values, never a
// *Config.
package config
