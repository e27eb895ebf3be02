package kernels

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolParallel(t *testing.T) {
	for _, threads := range []int{0, 1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 2, 3, 7, 100} {
			for rep := 0; rep < 50; rep++ {
				hits := make([]atomic.Int32, n)
				p.Parallel(n, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("threads %d n %d: index %d ran %d times", threads, n, i, h)
					}
				}
			}
		}
		// Let the workers park, then check they wake up.
		time.Sleep(2 * spinFor)
		var sum atomic.Int64
		p.Parallel(4, func(lo, hi int) { sum.Add(int64(hi - lo)) })
		if sum.Load() != 4 {
			t.Fatalf("threads %d: after parking covered %d of 4", threads, sum.Load())
		}
		p.Close()
		p.Close()
	}
	var nilPool *Pool
	ran := 0
	nilPool.Parallel(5, func(lo, hi int) { ran += hi - lo })
	if ran != 5 || nilPool.Threads() != 1 {
		t.Fatalf("nil pool ran %d, threads %d", ran, nilPool.Threads())
	}
}
