# {{TITLE}}: mean over seeds (bar) ± sample standard deviation (error bar), value on top.
# Written by `attnlab report`; restyle freely and rerun in this folder: gnuplot {{NAME}}.gp
# Data: {{NAME}}.dat (columns: arm mean std n_seeds).
set title "{{TITLE}}"
set ylabel "{{YLABEL}}"
set yrange [{{YMIN}}:{{YMAX}}]
set xrange [-0.6:{{N}}-0.4]
set style fill solid 0.65 border -1
set boxwidth 0.6
set grid ytics
set border 3
set tics nomirror
set xtics rotate by -20
set errorbars large
set terminal pngcairo size 1100,700 font "Sans,13" noenhanced
set output "{{NAME}}.png"
plot "{{NAME}}.dat" using 0:2:3:xtic(1) with boxerrorbars linecolor rgb "#4C72B0" notitle, \
     "{{NAME}}.dat" using 0:($2 + $3):(sprintf("%.4f (n=%d)", $2, $4)) with labels offset 0,1 notitle
set terminal pdfcairo size 6in,3.8in font "Sans,10" noenhanced
set output "{{NAME}}.pdf"
replot
unset output
