package device_test

import (
	"errors"
	"fmt"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/device/devicetest"
	"github.com/edgeml/edge/runtime"
)

func ExampleParseTargets() {
	t, err := device.ParseTargets(device.TargetFlags{LatencyMs: "20ms", MACs: "300M", Params: "50%"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("latency %g ms, MACs %d, params fraction %g\n", t.LatencyMs, t.MACs, t.ParamsFraction)
	_, err = device.ParseTargets(device.TargetFlags{MACs: "lots"})
	fmt.Println(err)
	// Output:
	// latency 20 ms, MACs 300000000, params fraction 0.5
	// device: macs target "lots" is neither a fraction (0.5, 50%) nor a count (300M, 1.2G, 450000)
}

func ExampleDeriveBudget() {
	// A synthetic calibration: 19 GFLOPS on one thread, 20 GB/s, 2 µs
	// per operator, pooling at half the copy speed.
	cal := devicetest.Calibration(19, 20, 2000, 1)
	layers := []runtime.Layer{
		convLayer("conv1", 64, 56, 64, 3, 1, 1),
		convLayer("conv2", 128, 28, 128, 3, 1, 1),
		poolLayer("pool", 128, 28),
	}
	pred, _ := device.Predict(layers, cal, 1)
	cost := device.CostOf(runtime.Info{MACs: pred.MACs, Params: 221_376, WeightBytes: 4 * 221_376,
		PeakActivationBytes: 1 << 20}, layers, pred)
	b, err := device.DeriveBudget(cost, device.Targets{LatencyMs: 10}, nil, cal)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range b.Explanation {
		fmt.Println(line)
	}
	_, err = device.DeriveBudget(cost, device.Targets{MACs: 1_000_000}, nil, cal)
	fmt.Println(errors.Is(err, device.ErrImpossibleBudget), err)
	// Output:
	// model: 231 M MACs, 221 k params (0.84 MB weights), 1.00 MB peak activations
	// floor (every decomposable layer at rank 1): 3.01 M MACs, 2.11 k params
	// predicted 24.39 ms at 1 thread: 24.34 ms compute at 19.0 GFLOPS achieved on its layers, 0.06 ms memory, pooling and per-op overhead
	// latency 10 ms − 0.06 ms fixed = 9.94 ms × 19.0 GFLOPS ⇒ ≤ 94.5 M MACs
	// budget: ≤ 94.5 M MACs (40.9% of the model), ≤ 221 k params (0.84 MB), binding target: latency
	// true device: impossible budget: macs target 1.00 M MACs is below the smallest reachable 3.01 M MACs (every decomposable layer at rank 1, the rest unchanged); relax the target
}

func ExampleProfile_Summary() {
	p, err := device.Probe(device.ProbeOptions{Root: devicetest.TreeDir("rpi4b-32bit")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(p.Summary())
	// Output:
	// cpu:      Cortex-A72 (ARM), arm
	// simd:     neon
	// cores:    4 physical, 4 logical; 4 threads by default
	// cache:    L1d unknown, L2 unknown, L3 unknown
	// freq:     1500 MHz now, 1500 MHz max, governor performance
	// memory:   1849 MiB total, 1467 MiB available, limit 1849 MiB (meminfo), 1467 MiB usable now, swap 100 MiB
	// board:    Raspberry Pi 4 Model B (revision b03112: 4B, BCM2711, 2048 MB, board rev 1.2) [raspberrypi]
	// os:       Raspbian GNU/Linux 11 (bullseye)
	// thermal:  cpu-thermal 72.5°C
	// throttle: 0x30003: now under-voltage, frequency capped; since boot under-voltage, frequency capped
	// warning:  the board is throttling now: benchmark numbers will be low
}

func ExampleProbe() {
	p, err := device.Probe(device.ProbeOptions{Root: devicetest.TreeDir("x86-container-512m")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.CPU.Model, p.CPU.LogicalCores, "CPUs,", p.CPU.Threads, "threads by quota")
	fmt.Println("memory limit", p.Memory.Limit>>20, "MiB from", p.Memory.LimitSource)
	fmt.Println("board", p.Board.Name)
	// Output:
	// AMD EPYC 9354 32-Core Processor 16 CPUs, 2 threads by quota
	// memory limit 512 MiB from cgroup v2 memory.max
	// board Dell Inc. PowerEdge R6625
}

func ExampleDecodeRPiRevision() {
	r, err := device.DecodeRPiRevision("c03114")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("Raspberry Pi %s, %s, %d MB, rev %s, %s\n", r.Type, r.Processor, r.MemoryMB, r.BoardRev, r.Manufacturer)
	// Output: Raspberry Pi 4B, BCM2711, 4096 MB, rev 1.4, Sony UK
}

func ExamplePredict() {
	cal := devicetest.Calibration(10, 10, 1000, 1) // 10 GFLOPS, 10 GB/s, 1 µs per op
	layers := []runtime.Layer{convLayer("conv", 128, 28, 128, 3, 1, 1), poolLayer("pool", 128, 28)}
	pr, err := device.Predict(layers, cal, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range pr.Layers {
		fmt.Printf("%-5s %-9s %.3f ms\n", l.Name, l.Category, l.Ms)
	}
	fmt.Printf("total %.3f ms for %d MACs\n", pr.TotalMs, pr.MACs)
	// Output:
	// conv  conv      23.122 ms
	// pool  pool      0.101 ms
	// total 23.223 ms for 115605504 MACs
}

func ExampleFloorOf() {
	layers := []runtime.Layer{convLayer("conv", 64, 28, 128, 3, 1, 1), gemmLayer("fc", 1, 512, 10)}
	macs, params := device.FloorOf(layers)
	fmt.Println(macs, "MACs,", params, "params at rank 1")
	// Output: 552458 MACs, 1364 params at rank 1
}
