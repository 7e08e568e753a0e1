use criterion::criterion_main;
criterion_main!();
