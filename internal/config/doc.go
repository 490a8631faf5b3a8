// Package config holds queuewrangler's runtime configuration: the QW_*
// environment variables of the README's Configuration, read with envconfig.
//
// Parsing never stops at the first bad value. Each typed field records its
// own decode error, and Validate reports every problem at once so an operator
// fixes the environment in one pass instead of one restart per mistake.
//
// Secret values use the Secret type, which redacts itself in every textual
// form (fmt, slog, JSON), so a config can be logged whole without leaking.
//
// Configuration stops at main: other packages take plain values, never a
// *Config.
package config
