// sgemm_bench measures OpenBLAS cblas_sgemm GFLOPS for row-major
// C[M×N] = A[M×K]·B[K×N] (beta = 0), the peer of `edge bench --gemm`.
//
// Build: gcc -O2 -o sgemm_bench sgemm_bench.c -lopenblas
// Usage: sgemm_bench M N K [threads] [iters] [cpu]
// Output: one line "M N K threads gflops" (best of iters runs, each long
// enough to last ~50 ms). With "cpu" (one thread only) time is the
// thread's CPU time, the peer of bench/cputime.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static clockid_t clk = CLOCK_MONOTONIC;

static double now(void) {
	struct timespec ts;
	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: %s M N K [threads] [iters]\n", argv[0]);
		return 2;
	}
	int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]);
	int threads = argc > 4 ? atoi(argv[4]) : 1;
	int iters = argc > 5 ? atoi(argv[5]) : 5;
	if (argc > 6 && argv[6][0] == 'c')
		clk = CLOCK_THREAD_CPUTIME_ID;
	if (m <= 0 || n <= 0 || k <= 0 || threads <= 0 || iters <= 0) {
		fprintf(stderr, "sgemm_bench: sizes, threads and iters must be positive\n");
		return 2;
	}
	openblas_set_num_threads(threads);
	float *a = malloc(sizeof(float) * (size_t)m * k);
	float *b = malloc(sizeof(float) * (size_t)k * n);
	float *c = malloc(sizeof(float) * (size_t)m * n);
	if (!a || !b || !c) {
		fprintf(stderr, "sgemm_bench: out of memory\n");
		return 1;
	}
	unsigned s = 1;
	for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 0xff) / 256.0f - 0.5f;
	for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 0xff) / 256.0f - 0.5f;
	double flop = 2.0 * m * n * k;
	// Warm up and size the inner repeat count to ~0.2 s.
	double t0 = now();
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
	double one = now() - t0;
	int reps = one > 0 ? (int)(0.05 / one) : 1;
	if (reps < 1) reps = 1;
	double best = 0;
	for (int it = 0; it < iters; it++) {
		t0 = now();
		for (int r = 0; r < reps; r++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
		double g = flop * reps / (now() - t0) / 1e9;
		if (g > best) best = g;
	}
	printf("%d %d %d %d %.2f\n", m, n, k, threads, best);
	free(a);
	free(b);
	free(c);
	return 0;
}
