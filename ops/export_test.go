package ops

// CopiesFor is copiesFor, for the tests.
var CopiesFor = copiesFor
