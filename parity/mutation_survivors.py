"""Mutants that survive ``make mutate``, each with its argument (parity.mutation reads this).

Key: mutmut's mutant name.  Value: (kind, one line) where kind is
  "equivalent"  the mutant computes the same thing (it counts out of the score), or
  "missing"     a real bug no check catches yet: the line says which check would.
A survivor missing here is reported as NOT ARGUED.
"""

SURVIVORS = {
}
