package warehouse

import "fmt"

// TableNamed returns the entity table called name (one of RowTables'), for
// declarations that name the tables a stream fills or proves.
func TableNamed(name string) (Table, error) {
	for _, t := range RowTables() {
		if t.Name == name {
			return t, nil
		}
	}
	return Table{}, fmt.Errorf("warehouse: no table %q", name)
}
