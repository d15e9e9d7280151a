# {{TITLE}}: one line per attention plugin, from `attnlab bench` results.
# Written by `attnlab report`; restyle freely and rerun in this folder: gnuplot {{NAME}}.gp
# Data: {{NAME}}.dat, one block per plugin (columns: seq value).
array names[{{N}}] = [{{NAMES}}]
set title "{{TITLE}}"
set xlabel "sequence length (tokens)"
set ylabel "{{YLABEL}}"
set logscale x 2
set key outside right top box
set yrange [0:*]  # from zero: ratios between lines read true
set grid
set border 3
set tics nomirror
set format y "%g"
set terminal pngcairo size 1100,700 font "Sans,13" noenhanced
set output "{{NAME}}.png"
plot for [i=0:{{N}}-1] "{{NAME}}.dat" index i using 1:2 with linespoints linewidth 2.5 pointtype 7 linecolor (i+1) title names[i+1]
set terminal pdfcairo size 6in,3.8in font "Sans,10" noenhanced
set output "{{NAME}}.pdf"
replot
unset output
