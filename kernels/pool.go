package kernels

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long an idle worker (and a caller waiting for workers)
// polls before blocking. Inference runs operators back to back, so a
// short spin saves the futex wake-up (tens of µs) on every parallel loop.
const spinFor = 200 * time.Microsecond

// Pool is a persistent set of worker goroutines that split loops over
// output tiles. A Pool with one thread runs everything on the caller's
// goroutine with no synchronisation. Parallel may be called by one
// goroutine at a time per Pool; give each session its own Pool.
type Pool struct {
	threads int
	workers []*worker
	wg      sync.WaitGroup
	once    sync.Once
	// waiting is set while the caller of Parallel is parked on doneCh;
	// workers then signal completion on doneCh.
	waiting atomic.Bool
	doneCh  chan struct{}
}

// worker is one persistent goroutine with a single task slot.
type worker struct {
	seq      atomic.Uint64 // bumped by the caller when task is posted
	done     atomic.Uint64 // set to seq by the worker when task is done
	sleeping atomic.Bool
	quit     atomic.Bool
	wake     chan struct{} // buffered(1); a token wakes a parked worker
	task     Task
	lo, hi   int
	pool     *Pool
	_        [64]byte // keep workers on separate cache lines
}

// NewPool starts threads-1 workers (the caller is the last one).
// threads <= 0 means 1.
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = 1
	}
	p := &Pool{threads: threads, doneCh: make(chan struct{}, threads)}
	for i := 0; i < threads-1; i++ {
		w := &worker{wake: make(chan struct{}, 1), pool: p}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go w.loop(&p.wg)
	}
	return p
}

func (w *worker) loop(wg *sync.WaitGroup) {
	defer wg.Done()
	var last uint64
	for {
		// Spin for a new task, then park.
		deadline := time.Now().Add(spinFor)
		for i := 0; w.seq.Load() == last; i++ {
			if w.quit.Load() {
				return
			}
			if i&255 == 255 {
				if time.Now().After(deadline) {
					w.sleeping.Store(true)
					if w.seq.Load() == last && !w.quit.Load() {
						<-w.wake
					}
					w.sleeping.Store(false)
					deadline = time.Now().Add(spinFor)
				} else {
					goruntime.Gosched()
				}
			}
		}
		last = w.seq.Load()
		w.task.Run(w.lo, w.hi)
		w.task = nil
		w.done.Store(last)
		if w.pool.waiting.Load() {
			select {
			case w.pool.doneCh <- struct{}{}:
			default:
			}
		}
	}
}

// post hands a task to w.
func (w *worker) post(t Task, lo, hi int) uint64 {
	w.task, w.lo, w.hi = t, lo, hi
	s := w.seq.Add(1)
	if w.sleeping.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return s
}

// Threads is the number of goroutines that run a Parallel loop.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// A Task is the body of a parallel loop: Run(lo, hi) handles the
// indices [lo, hi). Passing a pointer to state the caller keeps (a
// pooled or per-operator struct) to ParallelTask allocates nothing,
// whereas a closure given to Parallel that captures variables is
// allocated on every call.
type Task interface {
	Run(lo, hi int)
}

// funcTask runs a closure as a Task.
type funcTask func(lo, hi int)

func (f funcTask) Run(lo, hi int) { f(lo, hi) }

// Parallel runs fn over [0,n) split into at most Threads() contiguous
// chunks and returns when all are done. A nil Pool runs fn(0, n).
func (p *Pool) Parallel(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if p == nil || p.threads == 1 || n == 1 {
		fn(0, n)
		return
	}
	p.ParallelTask(n, funcTask(fn))
}

// ParallelTask is Parallel with the loop body t.Run.
func (p *Pool) ParallelTask(n int, t Task) {
	if n <= 0 {
		return
	}
	if p == nil || p.threads == 1 || n == 1 {
		t.Run(0, n)
		return
	}
	chunks := min(p.threads, n)
	var seqs [16]uint64
	var seqSlice []uint64
	if chunks-1 <= len(seqs) {
		seqSlice = seqs[:chunks-1]
	} else {
		seqSlice = make([]uint64, chunks-1)
	}
	for c := 1; c < chunks; c++ {
		seqSlice[c-1] = p.workers[c-1].post(t, c*n/chunks, (c+1)*n/chunks)
	}
	t.Run(0, n/chunks)
	// Spin briefly for the workers, then park so that a worker whose OS
	// thread waits for a CPU can get this one.
	allDone := func() bool {
		for c := 1; c < chunks; c++ {
			if p.workers[c-1].done.Load() != seqSlice[c-1] {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(spinFor / 4)
	for i := 0; !allDone(); i++ {
		if i&63 != 63 {
			continue
		}
		if time.Now().Before(deadline) {
			goruntime.Gosched()
			continue
		}
		p.waiting.Store(true)
		for !allDone() {
			<-p.doneCh
		}
		p.waiting.Store(false)
		// Drop tokens sent after the last check.
		for len(p.doneCh) > 0 {
			<-p.doneCh
		}
		break
	}
}

// Close stops the workers. The Pool must not be used afterwards.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		for _, w := range p.workers {
			w.quit.Store(true)
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
		p.wg.Wait()
	})
}

// argTask is the Task of parallelArgs: body(&args, lo, hi).
type argTask[A any] struct {
	args A
	body func(a *A, lo, hi int)
}

func (t *argTask[A]) Run(lo, hi int) { t.body(&t.args, lo, hi) }

// parallelArgs runs body(&args, lo, hi) over [0,n) like Parallel, with
// args copied into a task object from tasks (one sync.Pool per call
// site), so that a call allocates nothing: body must be a top-level
// function or method expression, not a closure, and args holds what a
// closure would capture.
func parallelArgs[A any](p *Pool, tasks *sync.Pool, n int, args A, body func(a *A, lo, hi int)) {
	t, _ := tasks.Get().(*argTask[A])
	if t == nil {
		t = new(argTask[A])
	}
	t.args, t.body = args, body
	p.ParallelTask(n, t)
	var zero A
	t.args, t.body = zero, nil
	tasks.Put(t)
}
