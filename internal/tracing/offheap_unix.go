//go:build unix

package tracing

import (
	"syscall"
	"unsafe"
)

// offHeap returns n zeroed Ts in memory mapped outside the Go heap, which
// the garbage collector neither scans nor counts, and the function that
// unmaps them. T must hold no pointers.
func offHeap[T any](n int) ([]T, func()) {
	size := n * int(unsafe.Sizeof(*new(T)))
	if size == 0 {
		return nil, func() {}
	}
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]T, n), func() {} // out of address space: the heap will do
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n), func() { syscall.Munmap(mem) }
}
