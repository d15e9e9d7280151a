# {{TITLE}}: per training budget and variant, the final validation loss (mean over seeds)
# against the parameter count (points), and the least-squares parabola in log10(parameters)
# whose vertex is the fitted compute-optimal size (dashed, where the curve has one).
# Written by `attnlab report`; restyle freely and rerun in this folder: gnuplot {{NAME}}.gp
# Data: {{NAME}}.dat, blocks 0..{{N}}-1 the curves (columns: params loss_mean n_seeds
# training_flops), then one block per fitted curve (columns: params fitted_loss).
array names[{{N}}] = [{{NAMES}}]
set title "{{TITLE}}"
set xlabel "parameters"
set ylabel "final validation loss"
set logscale x
set key outside right top box opaque
set grid
set border 3
set tics nomirror
set terminal pngcairo size 1200,700 font "Sans,13" noenhanced
set output "{{NAME}}.png"
plot for [i=0:{{N}}-1] "{{NAME}}.dat" index i using 1:2 with linespoints pointtype 7 linewidth 2 linecolor (i+1) title names[i+1]{{FITS}}
set terminal pdfcairo size 7in,4in font "Sans,10" noenhanced
set output "{{NAME}}.pdf"
replot
unset output
