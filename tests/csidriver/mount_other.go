//go:build !linux

package csidriver

import "errors"

var errNoMounts = errors.New("bind mounts need Linux")

func isMountPoint(string) (bool, error)    { return false, nil }
func mountPoints() ([]string, error)       { return nil, nil }
func bindMount(string, string, bool) error { return errNoMounts }
func unmountAll(string) error              { return nil }
