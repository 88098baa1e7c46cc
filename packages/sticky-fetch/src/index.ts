// Placeholder: being written.
export {}
