module github.com/cnndbg/cnndbg

go 1.26.0
