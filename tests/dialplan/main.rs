//! The dialplan checker reports every class of mistake with its exact message, and the
//! interpreter runs calls through dialplans (scripted host, no sockets).

mod check;
mod interpreter;
