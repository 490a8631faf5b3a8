// Package cli is queuewrangler's command line: the command table's help
// (`queuewrangler -h`), each command's own -h, flag parsing that reports
// instead of exiting, and the mapping of errors to exit codes.
//
// Every command's -h says what the command does before listing its flags,
// and goes to stdout with exit code 0, as the program's -h does: it is
// output that was asked for. A mistake (an unknown command or flag) goes to
// stderr with the usage and exit code 2.
//
// It knows the commands only as the table main hands it, and runs none of
// them itself: what a command does lives in the packages main wires. It
// must not read the environment; config lists the variables for it.
package cli
