// Package compress turns a model and a whole-network budget (MACs and/or
// parameters per image) into a factorized model that fits, by low-rank
// decomposition of its Conv and Gemm/MatMul weights, with the rank of
// every layer chosen by COBLA (Li & Shi, "Constrained Optimization Based
// Low-Rank Approximation of Deep Neural Networks", ECCV 2018) or by one of
// two baselines.
//
// # Decomposition
//
// Every Conv with group 1 and every Gemm/MatMul with a constant float32
// weight of the optimized graph (runtime.Model.Graph: BatchNormalization
// folded, constants folded) is factorized by an SVD in float64, computed
// from the eigen-decomposition of the smaller Gram matrix (A·Aᵀ or AᵀA):
//
//   - channel scheme: W as N×(C·kh·kw) ⇒ a kh×kw Conv C→K with the
//     original strides, pads and dilations, then a 1×1 Conv K→N with the
//     bias;
//   - spatial scheme (Tai et al.): W as (C·kw)×(kh·N) ⇒ a 1×kw Conv C→K
//     (width stride, pads, dilation), then a kh×1 Conv K→N (height ones)
//     with the bias;
//   - Gemm/MatMul: W (N×K_in) ⇒ two Gemm (or MatMul) nodes, alpha and
//     beta folded into the weights and bias.
//
// SchemeAuto chooses per layer the scheme keeping more weight energy at
// half of the layer's dense MACs; it considers the spatial scheme only
// when its matrix has a side of at most 768 (the pure-Go eigensolver
// grows as n³). Only components up to kmax, the largest rank whose
// factorized cost stays below the dense cost, are candidates; a layer
// that should keep more stays dense (see promotion below).
//
// # Costs
//
// One mask per kept-able component. MACs and parameters of the network
// are linear in the masks: per component, K·(cost of both factor layers)
// exactly as the runtime counts them (kernels.ConvParams.MACs; weights
// plus bias), plus the fixed cost of every other layer (from
// runtime.Model.Layers). The compressed model's MACs and parameters equal
// the runtime's figures for it (tested).
//
// # Objective and gradient
//
// f(m) is the mean cross-entropy of the network with effective weights
// U·diag(s⊙m)·Vᵀ on labeled calibration images, or, without labels, the
// KL divergence from the original network's softmax. The calibration
// network is a gorgonia expression graph built from the IR: every
// operator (Conv, Gemm/MatMul, Relu, Add, MaxPool with ceil_mode,
// GlobalAveragePool, Flatten/Reshape, Concat, Pad, and the softmax
// cross-entropy) is a custom gorgonia.SDOp whose forward and backward run
// edge's kernels (kernels.GemmKernel with im2col/col2im, batched so deep
// layers still make large GEMMs); gorgonia.Grad differentiates the graph
// and a tape machine runs it. The weight gradient G of each layer gives
// ∂f/∂m_i = s_i·u_iᵀ·G·v_i. Gradients are checked against central finite
// differences in the tests.
//
// # Solver
//
// The relaxation m ∈ [0,1]ⁿ with the linear budget constraints is solved
// by SQP: each quadratic subproblem (box + up to two half-spaces, Hessian
// from limited-memory BFGS in compact form with Powell damping, memory
// 8 pairs, i.e. 16 vectors of n float64: < 2 MB for 11k masks) is solved
// by spectral projected gradient with exact line search (the projection
// finds the multipliers by bisection); steps are accepted by a
// backtracking line search on the ℓ1 exact-penalty merit function. The
// start is the better of the greedy and uniform allocations on the
// training images. It stops at Options.MaxIter iterations, at a step below
// 1e-4, or when the time left in Options.TimeLimit is what the later
// stages need (see Time limit); Result.Stop says which.
//
// # Rounding
//
// Per layer K = Σm rounded (nearest, then Options.Roundings stochastic
// roundings from Options.Seed), keeping the top-K components by s⊙m,
// each also tried with the relaxed masks kept as singular-value scales.
// Allocations over budget are repaired by dropping the components that
// lose the least energy per unit of cost; factorized layers are promoted
// back to dense while the budget allows. The candidates — including the
// greedy and uniform allocations — are judged by the objective on the
// held-out part of the calibration images (Options.HeldOut), never on an
// evaluation set. The result never exceeds the budget.
//
// # Baselines
//
// MethodUniform keeps the same energy fraction in every layer (bisection
// to meet the budget); MethodGreedy is Zhang et al.'s greedy maximization
// of the product of retained energies.
//
// # Beyond the paper
//
// Options.DataAware refits, after rounding, every factorized layer on
// calibration activations of up to 256 images (refitImages). The first
// factor of a channel-scheme Conv or a Gemm becomes Pᵀ·W, P the top-K
// principal directions of the original layer's outputs (the best rank-K
// approximation in the data norm E‖(W − W')x‖², Zhang et al. 2015),
// the covariance shrunk towards W·Wᵀ — the plain SVD's choice — by
// n/samples; spatial-scheme first factors keep the SVD subspace. The
// second factor (and bias) is then refitted by ridge-regularized least
// squares so that, fed with the activations of the already-compressed
// network (Zhang et al. 2016's asymmetric reconstruction), it reproduces
// the original layer's output at sampled positions. Result.Plain keeps
// the graph with the plain SVD factors for comparison. Options.Finetune
// runs that many epochs of knowledge distillation (Adam on the KL
// divergence from the original network's softmax, through the same
// gorgonia graph) over the factors, within Options.TimeLimit; the
// finetuned factors are kept only when their held-out objective is no
// worse (Result.FinetuneKept).
//
// The refit changes how allocations rank: a baseline whose plain SVD
// factors do poorly may refit well. So with DataAware, COBLA's kept
// rounding competes once more with the greedy and uniform warm starts,
// each refitted the same way, on the held-out images; the allocation with
// the lowest held-out objective is kept (Result.Guard lists the
// comparison, Result.Chosen the winner). COBLA's result is therefore
// never worse on the held-out images than either baseline with the refit,
// unless the time limit left no time to refit a baseline (marked Skipped).
//
// # Time limit
//
// Options.TimeLimit bounds the whole Compress call from its start,
// decomposition included. The forward time per image, measured when the
// baselines are judged on the held-out images before the solve and
// scaled by how much slower the solver's evaluations have become since
// (the load of the machine), budgets what follows the solve: the
// held-out passes of the rounding candidates, the refit (about three passes over its images;
// the original network's layer outputs are computed once and shared by
// every refit), the guard's two baseline refits, the finetune (at most 40% of the limit) and the judgement (three
// held-out passes), plus a twentieth of the limit. The SQP does not
// start a value or gradient evaluation that would end past its deadline;
// stochastic roundings are skipped, refit layers keep their SVD factors
// and the finetune stops when the limit comes near.
//
// The SQP uses at most Options.SolveImages (default 256) training images;
// the held-out judgement uses the held-out part of the calibration set.
//
// # Output
//
// Result.Graph is a standard ONNX graph (same opset) with each factorized
// layer as two Conv, Gemm or MatMul nodes, metadata_props of the original
// plus compress.method, compress.scheme, compress.budget_macs/params,
// compress.macs, compress.params, compress.ranks ("layer:kept/full,...")
// and compress.source_sha256 when given. Result.Write writes it through a
// temporary file renamed into place, so a failed or interrupted run leaves
// no output file.
//
// # Determinism and threading
//
// Results depend only on the inputs and Options.Seed (the calibration
// split, the roundings); Compress uses Options.Threads goroutines and is
// safe to call concurrently on the same Model.
package compress
