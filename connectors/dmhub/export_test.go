package dmhub

import "errors"

func isTokenErr(err error) bool { return errors.Is(err, errTokenRejected) }
