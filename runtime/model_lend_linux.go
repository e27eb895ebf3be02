package runtime

import (
	"syscall"
	"unsafe"
)

// dropPages returns the whole pages inside b to the operating system
// (madvise MADV_DONTNEED): they read as zeros afterwards. b is the
// packed part of a weight lent to kernels.NewDense, whose tensor is
// released right after (lendWeights), so nothing reads them again; the
// Go heap keeps the allocation and frees it as usual.
func dropPages(b []float32) {
	if len(b) == 0 {
		return
	}
	page := uintptr(syscall.Getpagesize())
	bs := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b)*4)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(bs)))
	lo := int((page - addr%page) % page)
	hi := len(bs) - int((addr+uintptr(len(bs)))%page)
	if hi <= lo {
		return
	}
	_ = syscall.Madvise(bs[lo:hi], syscall.MADV_DONTNEED)
}
