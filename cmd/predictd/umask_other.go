//go:build !unix

package main

func setUmask(uint32) func() { return func() {} }
