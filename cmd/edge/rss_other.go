//go:build !linux

package main

// peakRSSBytes is unknown outside Linux.
func peakRSSBytes() int64 { return 0 }
