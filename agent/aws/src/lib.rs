//! The narrow door between Whittle and AWS (placeholder: being built).
