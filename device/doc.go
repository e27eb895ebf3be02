// Package device finds out what machine edge runs on, measures what the
// kernels achieve on it, predicts the latency of a model's layers and
// turns the user's targets into a compression budget.
//
// # Probe
//
// Probe reads /proc, /sys and /etc below ProbeOptions.Root ("" or "/"
// for the real host, a fake tree in tests and `edge probe --root`):
//
//   - CPU: /proc/cpuinfo (vendor, model, ARM implementer/part, feature
//     flags), /sys/devices/system/cpu/online (logical cores),
//     cpuN/topology (physical cores), cpuN/cpu_capacity and
//     cpuN/cpufreq/{cpuinfo_max_freq,scaling_cur_freq,scaling_governor}
//     (big.LITTLE clusters, frequency, governor), cpu0/cache/index*
//     (L1d/L2/L3). On the real amd64 host klauspost/cpuid overrides
//     vendor, model, features and caches. The cgroup CPU quota (v2
//     cpu.max, v1 cpu.cfs_quota_us/cpu.cfs_period_us) caps CPU.Threads.
//   - Memory: /proc/meminfo, and the cgroup found through
//     /proc/self/cgroup: v2 memory.max and v1 memory.limit_in_bytes of the
//     cgroup and its visible ancestors (a container sees its own cgroup
//     as the root). The smallest of MemTotal and the limits is
//     Memory.Limit, with its source named; EffectiveAvailable is
//     min(MemAvailable, Limit − cgroup usage).
//   - Board: device-tree model and compatible (/proc/device-tree or
//     /sys/firmware/devicetree/base) and the cpuinfo Revision name a
//     Raspberry Pi (revision code decoded by DecodeRPiRevision) or an
//     NVIDIA Jetson (model string, else module part number in
//     compatible); otherwise /sys/class/dmi/id/product_name, else
//     "generic". periph.io's rpi/distro helpers read fixed paths of the
//     running host and cannot take a root, so the parsing is done here.
//   - Thermal: every /sys/class/thermal/thermal_zone*/{type,temp}, and the
//     Raspberry Pi firmware throttling word (soc:firmware/get_throttled,
//     or `vcgencmd get_throttled` on the real host): bits 0–3 now
//     (under-voltage, frequency capped, throttled, soft temperature
//     limit), bits 16–19 the same since boot.
//
// Every source ends in one of three outcomes recorded in
// Profile.Sources: found, absent (with the reason) or failed (with the
// error). A missing or broken file lowers what is known; it never fails
// the probe. Zero numbers in a Profile mean "unknown".
//
// # Calibrate
//
// Calibrate runs the real kernels (kernels.NewConv2D, kernels.NewDense
// as ops.Gemm plans a Linear layer, kernels.NewPooling, the
// ReLU kernel) on shapes taken from real layers: 3×3 convolutions of
// ImageNet- and CIFAR-size networks (K = 288…4608, N = 16…3136),
// small-K first layers (K = 9, 27), a 7×7 stride-2 stem, stride-2 3×3
// and 1×1 downsampling, thin and squeeze/expand 1×1 convolutions, a
// depthwise convolution, M = 1 fully connected layers (one
// cache-resident, one larger than L2), 2×2 and 3×3/2 max pools, a ReLU
// pass, and chains of Relu, Add and Concat operators run through the
// runtime itself (runtime.FromGraph), so that operators without a single
// kernel are timed with their real code. It does so at each thread count
// (1, 2, 4, … and N; quick mode: 1 and N), plus a parallel copy of an
// L2-resident buffer and of a large one (bandwidth, fastest run), a tiny
// convolution (per-op overhead) and the cold-weights test described
// below. Each time is the lower quartile of the warm runs within the
// time budget (robust to preemption on a busy machine): about 2 s in
// total, 0.5 s in quick mode. The memory rates are made non-decreasing in
// the thread count (a lower figure at more threads is interference).
// Results are cached as JSON in $XDG_CACHE_HOME/edge (default
// ~/.cache/edge), keyed by CPU model, board, edge version
// (debug.ReadBuildInfo, "devel" for a source build), the build
// fingerprint Build() (VCS revision, "+dirty" for a modified tree, and a
// hash of the executable: any rebuild of the kernels or of this package
// measures again), CalibrationFormat, GEMM kernel, mode and thread
// counts; CalibrateOptions.Recalibrate measures again.
//
// # Model layers (AddLayers)
//
// (*Calibration).AddLayers extends a calibration with a model's own
// layers, so that its prediction does not depend on how well the fixed
// shapes above cover it or on which kernel the planner picks (Winograd,
// implicit GEMM, transposed GEMM, packed dense): every distinct
// convolution and matrix product (LayerSig: full geometry, batch and
// fused activation) is built with the kernels the runtime plans for it
// (kernels.NewConv2D, kernels.NewDense, on synthetic weights) and timed
// like the calibration shapes, but each timed run follows a pass over a
// buffer of the model's working set (weights + outputs, at most 64 MB)
// on every thread and a read of the layer's input, so the caches hold
// what they hold when the layer runs in the model (its weights evicted
// by the other layers, its input just written); with the model's graph every
// distinct pooling and elementwise layer is run as a one-node graph
// through the runtime (runs back to back, as in a model), timed by the session's
// per-layer profile. The
// results join Shapes (ShapeResult.Layer names the signature) and are
// cached with the calibration; `edge budget` (and compress/demo through
// it) adds the model's layers at the calibrated thread counts around
// --threads before predicting.
//
// # Cost model (Predict)
//
// For a layer at t threads (a calibrated count; other counts interpolate
// linearly between the neighbouring calibrated ones, and counts beyond
// the largest use the largest):
//
//	time    = overhead(t) + max(compute, memory) + cold   (roofline)
//	compute = 2·MACs / G(t, category, M, N, K)            (compute layers)
//	memory  = bytes / BW(t, bytes)
//	cold    = weights / C(t) · min(1, ln(W/B) / ln(Wc/Wt))   (when W > B)
//
// Calibration runs each shape with its weights cache-hot, while in a
// model whose weights W exceed the caches every layer's weights are
// evicted by the others. C is measured directly: a 512→512 3×3
// convolution on 4×4 pixels (9.4 MB of weights, the deep layers of
// CIFAR-size VGG/ResNet) run in turn over copies totalling Wc (64 MB;
// at most an eighth of the available memory) against the same layer run
// hot; C = weight bytes / extra time. Wt is one copy's weights, B the
// larger of the layer's bytes and the cache-resident copy size: a layer
// that alone overflows the caches already paid for it when calibrated,
// so for B > Wt the term is further scaled by 1 − ln(B/Wt)/ln(Wc/Wt)
// (zero from B ≥ Wc: a 400 MB fully connected layer streams its weights
// from memory whether alone or in a model).
// Quick mode skips this test (cold = 0) and the two largest conv shapes.
//
// bytes are the layer's inputs, weights and outputs (4-byte floats).
// BW(t, ws) is the measured copy bandwidth: the cache figure for working
// sets up to the cache buffer, the large-buffer figure from its size on,
// log-linear in between. overhead(t) is the time of a tiny convolution
// (setup, packing, dispatch to the pool). Compute layers are viewed as
// GEMMs: Conv has M = OutC/Group, N = OutH·OutW, K = InC/Group·KH·KW,
// repeated batch·Group times; Gemm/MatMul has M = rows (batch),
// N = outputs, K = inputs. Each calibrated shape s yields its achieved
// rate
//
//	G_s = 2·MACs_s / (T_s − overhead)
//
// and G for a layer measured by AddLayers is its own G_s (with no memory
// or cold term: the measurement moved its bytes from where they are in
// the model); for another
// layer it is the inverse-squared-distance weighted geometric mean of
// the G_s / e_s of the same category and kernel family (the kernel name
// before "/"; any kernel of the category when none matches) (k×k conv, pointwise,
// depthwise, M < 8 fully connected; batched FC counts as pointwise) at
// that thread count, times the layer's e: distance is measured in
// (log2 M, log2 N, log2 K, 2·log2 stride), and e = M·N / (⌈M/MR⌉MR ·
// ⌈N/NR⌉NR) is the useful fraction of the GEMM register tiles (MR×NR
// read from the kernel name the plan chose, e.g. f32-gemm-6x64). A
// layer with a calibrated shape is thus predicted at its measured time,
// and other shapes borrow the rates of the most similar ones (which
// already include their packing and memory traffic; the memory term
// takes over only when a layer moves more bytes than it computes, e.g.
// large fully connected layers). Pooling and elementwise layers cost
// overhead + max(bytes / R, memory), R being the layer's own measured
// byte rate when AddLayers timed it, else the measured byte rate of the
// same operator type (else the category's geometric mean). Layers
// with no bytes and no MACs cost the overhead only. LayerCost reports ComputeMs, MemoryMs
// (what memory adds beyond compute) and OverheadMs, which sum to Ms.
//
// # Budget
//
// DeriveBudget turns Targets (ParseTargets parses the CLI strings) into
// a Budget of MACs, weight bytes, activation bytes and threads:
//
//   - LatencyMs: MACs ≤ (LatencyMs − fixed) × achieved GFLOPS / 2, where
//     fixed is the predicted time of the layers compression cannot
//     shrink (pooling, elementwise, overheads) and the achieved rate is
//     the model's own predicted compute rate (its MACs over the predicted
//     compute time of its compressible layers).
//   - MemoryMB: RuntimeOverheadBytes + WeightCopies·weights + peak
//     activations ≤ MemoryMB (the process model, measured on the
//     fixtures: see RuntimeOverheadBytes).
//   - MACs: a fraction (0 < f ≤ 1) of the model's MACs or an absolute
//     count ("300M", "1.2G").
//   - Params: a fraction of the model's parameters or an absolute count.
//   - Auto: weights + activations + overhead within half of the memory
//     available to the process.
//
// The tightest target wins. A target below what any rank allocation can
// reach is an error wrapping ErrImpossibleBudget that states the
// smallest reachable value. The floor for MACs (and parameters) is the
// cost of the model with every decomposable layer at rank 1, computed by
// FloorOf:
//
//   - Conv with group 1 and kernel kh×kw (C input, N output channels,
//     H×W output pixels) factorizes into a C→r kh×kw convolution and an
//     r→N 1×1 convolution (the channel scheme): at r = 1 it costs
//     C·kh·kw·H·W + N·H·W MACs and C·kh·kw + N weights.
//   - Gemm/MatMul with K inputs and N outputs becomes K→r→N: at r = 1,
//     (K + N) MACs per row and K + N weights.
//   - Every other layer (grouped/depthwise conv, pooling, …) keeps its
//     full cost.
//
// # Validation
//
// TestPredictionBar (EDGE_PREDICT_BAR=1, models in EDGE_PREDICT_MODELS)
// compares Predict with the measured p50 of real sessions at every
// calibrated thread count and fails outside ±20%; it needs a quiet
// machine. On a busy one, the internal TestPredictionCPUTime
// (EDGE_PREDICT_CPUTIME=1) times calibration and inference in thread
// CPU time at one thread, which other processes inflate far less.
//
// # Concurrency
//
// Probe, Predict, DeriveBudget and ParseTargets are pure apart from file
// reads and safe for concurrent use. Calibrate uses the whole machine
// while it runs; do not run two at once.
package device
