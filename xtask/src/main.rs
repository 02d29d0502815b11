mod models;

fn main(){}
