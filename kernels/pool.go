package kernels

import "sync"

// Pool is a persistent set of worker goroutines that split loops over
// output tiles. A Pool with one thread runs everything on the caller's
// goroutine with no synchronisation. Parallel may be called by one
// goroutine at a time per Pool; give each session its own Pool.
type Pool struct {
	threads int
	work    chan poolTask
	wg      sync.WaitGroup
	once    sync.Once
}

type poolTask struct {
	fn     func(lo, hi int)
	lo, hi int
	done   *sync.WaitGroup
}

// NewPool starts threads-1 workers (the caller is the last one).
// threads <= 0 means 1.
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = 1
	}
	p := &Pool{threads: threads}
	if threads > 1 {
		p.work = make(chan poolTask, threads)
		for i := 0; i < threads-1; i++ {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				for t := range p.work {
					t.fn(t.lo, t.hi)
					t.done.Done()
				}
			}()
		}
	}
	return p
}

// Threads is the number of goroutines that run a Parallel loop.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

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
	chunks := min(p.threads, n)
	var done sync.WaitGroup
	done.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		p.work <- poolTask{fn: fn, lo: c * n / chunks, hi: (c + 1) * n / chunks, done: &done}
	}
	fn(0, n/chunks)
	done.Wait()
}

// Close stops the workers. The Pool must not be used afterwards.
func (p *Pool) Close() {
	if p == nil || p.work == nil {
		return
	}
	p.once.Do(func() {
		close(p.work)
		p.wg.Wait()
	})
}
