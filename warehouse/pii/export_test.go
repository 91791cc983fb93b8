package pii

// Valid reports whether the package's parser accepts s (FuzzJSON compares
// it with encoding/json.Valid).
func Valid(s string) bool {
	_, err := parse(s)
	return err == nil
}
