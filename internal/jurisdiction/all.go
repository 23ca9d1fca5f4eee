package jurisdiction

// All is the scope of the whole hierarchy.
const All = "/"
