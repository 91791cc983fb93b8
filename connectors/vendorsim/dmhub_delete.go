package vendorsim

import (
	"fmt"
	"slices"
)

// DeleteMember removes a member from the tenant as a deletion at the
// vendor would: it no longer appears in the member list, its look-ups
// answer "not found", its identities resolve to nothing. restore puts it
// back unchanged (a member that reappears, e.g. an undone deletion).
func (h *DMHub) DeleteMember(id string) (restore func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.data.member(id)
	if err != nil {
		return nil, err
	}
	d := h.data
	i := slices.Index(d.members, m)
	d.members = slices.Delete(d.members, i, i+1)
	delete(d.byID, m.num)
	var keys []string
	for k, num := range d.identityIx {
		if num == m.num {
			keys = append(keys, k)
			delete(d.identityIx, k)
		}
	}
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		j, _ := slices.BinarySearchFunc(d.members, m.num, func(x *dmMember, n int64) int {
			switch {
			case x.num < n:
				return -1
			case x.num > n:
				return 1
			}
			return 0
		})
		d.members = slices.Insert(d.members, j, m)
		d.byID[m.num] = m
		for _, k := range keys {
			d.identityIx[k] = m.num
		}
	}, nil
}

// DeleteMemberCoupon removes one coupon from its member's coupon list
// (e.g. recalled by an operator), without touching the member.
func (h *DMHub) DeleteMemberCoupon(code string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.data
	mc, ok := d.mcouponIx[code]
	if !ok {
		return fmt.Errorf("vendorsim: dmhub member coupon %s: not found", code)
	}
	for num, list := range d.mcoupons {
		if i := slices.Index(list, mc); i >= 0 {
			d.mcoupons[num] = slices.Delete(list, i, i+1)
		}
	}
	delete(d.mcouponIx, code)
	return nil
}
