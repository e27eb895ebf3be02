package device_test

import (
	"testing"

	"github.com/edgeml/edge/device"
)

func TestDecodeRPiRevision(t *testing.T) {
	tests := []struct {
		code, typ, proc string
		mem             int
		rev, maker      string
		err             bool
	}{
		{code: "c03114", typ: "4B", proc: "BCM2711", mem: 4096, rev: "1.4", maker: "Sony UK"},
		{code: "d04170", typ: "5", proc: "BCM2712", mem: 8192, rev: "1.0", maker: "Sony UK"},
		{code: "902120", typ: "Zero 2 W", proc: "BCM2837", mem: 512, rev: "1.0", maker: "Sony UK"},
		{code: "a020d3", typ: "3B+", proc: "BCM2837", mem: 1024, rev: "1.3", maker: "Sony UK"},
		{code: "0xb03140", typ: "CM4", proc: "BCM2711", mem: 2048, rev: "1.0", maker: "Sony UK"},
		{code: "a22082", typ: "3B", proc: "BCM2837", mem: 1024, rev: "1.2", maker: "Embest"},
		{code: "0010", err: true}, // old-style Pi 1 B+
		{code: "xyz", err: true},
		{code: "", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			r, err := device.DecodeRPiRevision(tt.code)
			if tt.err {
				if err == nil {
					t.Fatalf("no error, got %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Type != tt.typ || r.Processor != tt.proc || r.MemoryMB != tt.mem || r.BoardRev != tt.rev || r.Manufacturer != tt.maker {
				t.Errorf("got %+v", r)
			}
		})
	}
}
