package sim

import (
	"fmt"
	"io"

	"github.com/queuewrangler/queuewrangler/balancer"
)

// WriteBuiltinList prints each built-in scenario (`simulate --list`): its
// name, team size, span and stuck threshold.
func WriteBuiltinList(w io.Writer) error {
	for _, name := range BuiltinNames() {
		sc, err := Builtin(name)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%-26s %2d people, %s simulated, stuck after %s\n",
			name, len(sc.Team), balancer.FormatDuration(sc.Duration), balancer.FormatDuration(sc.StuckAfter)); err != nil {
			return err
		}
	}
	return nil
}
