//! Tokens as a reader would write them, for error messages.

use quote::ToTokens;

/// Tokens as a reader would write them: `Vec<u8>`, `&mut Db`, not `Vec < u8 >`.
pub fn show(tokens: impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" ;", ";")
        .replace("& ", "&")
}
