package device_test

import (
	"fmt"
	"strings"
)

func splitComma(s string) []string { return strings.Split(strings.TrimSpace(s), ",") }

// sscan parses "a-b" or "a".
func sscan(s string, a, b *int) (int, error) {
	if strings.Contains(s, "-") {
		return fmt.Sscanf(s, "%d-%d", a, b)
	}
	return fmt.Sscanf(s, "%d", a)
}
